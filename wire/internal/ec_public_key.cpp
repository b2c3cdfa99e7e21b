#include "wire/internal/ec_public_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>

namespace ringv8::wire::internal {

namespace {

// Field degree of the key's named curve (163 for sect163k1), or 0.
int CurveDegree(EVP_PKEY* pkey) {
  char name[64];
  size_t name_len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                     &name_len) != 1) {
    return 0;
  }
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) return 0;
  EC_GROUP* group = EC_GROUP_new_by_curve_name(nid);
  if (group == nullptr) return 0;
  int degree = EC_GROUP_get_degree(group);
  EC_GROUP_free(group);
  return degree;
}

constexpr size_t kCacheSize = 32;

}  // namespace

Result<std::shared_ptr<const EcPublicKey>> EcPublicKey::FromDer(Bytes der) {
  // Most recently used first; a handful of trackers sign nearly all EC traffic.
  thread_local std::vector<std::shared_ptr<const EcPublicKey>> cache;
  auto hit = std::find_if(cache.begin(), cache.end(),
                          [der](const auto& key) { return std::ranges::equal(key->der(), der); });
  if (hit != cache.end()) {
    std::rotate(cache.begin(), hit, hit + 1);
    return cache.front();
  }
  auto key = Load(der);
  if (!key) return key;
  if (cache.size() == kCacheSize) cache.pop_back();
  cache.insert(cache.begin(), *key);
  return key;
}

Result<std::shared_ptr<const EcPublicKey>> EcPublicKey::Load(Bytes der) {
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (pkey == nullptr) {
    ERR_clear_error();  // Bad keys arrive from the network; keep OpenSSL's error queue empty.
    return WireError::kBadKey;
  }
  int degree = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC ? CurveDegree(pkey) : 0;
  if (p != der.data() + der.size() || degree <= 0) {
    EVP_PKEY_free(pkey);
    return WireError::kBadKey;
  }
  std::shared_ptr<EcPublicKey> key(new EcPublicKey());
  key->pkey_ = pkey;
  key->der_.assign(der.begin(), der.end());
  key->signature_length_ = 2 * static_cast<size_t>((degree + 7) / 8);
  return std::shared_ptr<const EcPublicKey>(std::move(key));
}

EcPublicKey::~EcPublicKey() { EVP_PKEY_free(pkey_); }

bool EcPublicKey::Verify(Bytes message, Bytes signature) const {
  if (signature.size() != signature_length_) return false;
  size_t half = signature_length_ / 2;
  BIGNUM* r = BN_bin2bn(signature.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + half, static_cast<int>(half), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der_sig = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der_sig);
  ECDSA_SIG_free(sig);  // Frees r and s too.
  if (der_len <= 0) return false;

  bool valid = false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha1(), nullptr, pkey_) == 1) {
    valid = EVP_DigestVerify(ctx, der_sig, static_cast<size_t>(der_len), message.data(),
                             message.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der_sig);
  if (!valid) ERR_clear_error();
  return valid;
}

}  // namespace ringv8::wire::internal

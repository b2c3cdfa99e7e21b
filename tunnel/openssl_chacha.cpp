#include "tunnel/openssl_chacha.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>

#include <strings.h>

namespace ringv8::tunnel {
namespace internal {

struct FreeCipher {
  void operator()(EVP_CIPHER* cipher) const { EVP_CIPHER_free(cipher); }
};

// The provider's functions, found once per process. The fetched cipher is held as long as they
// are (to the process's exit): it holds the provider, whose dispatch table they point into.
struct OpenSslChaChaFunctions {
  std::unique_ptr<EVP_CIPHER, FreeCipher> cipher;
  void* provider_context = nullptr;
  OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
  OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* encrypt_init = nullptr;
  OSSL_FUNC_cipher_decrypt_init_fn* decrypt_init = nullptr;
  OSSL_FUNC_cipher_update_fn* update = nullptr;
  OSSL_FUNC_cipher_final_fn* final = nullptr;
  OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;

  bool complete() const {
    return newctx && freectx && encrypt_init && decrypt_init && update && final && get_ctx_params;
  }
};

}  // namespace internal
namespace {

using Functions = internal::OpenSslChaChaFunctions;

constexpr std::string_view kAlgorithm = "ChaCha20-Poly1305";

// Whether `names` (an OSSL_ALGORITHM's, colon-separated) holds kAlgorithm.
bool Names(const char* names) {
  std::string_view rest(names);
  while (!rest.empty()) {
    const size_t end = rest.find(':');
    const std::string_view name = rest.substr(0, end);
    if (name.size() == kAlgorithm.size() &&
        strncasecmp(name.data(), kAlgorithm.data(), name.size()) == 0) {
      return true;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

Functions Find() {
  Functions f;
  f.cipher.reset(EVP_CIPHER_fetch(nullptr, kAlgorithm.data(), nullptr));
  if (f.cipher == nullptr) return f;
  const OSSL_PROVIDER* provider = EVP_CIPHER_get0_provider(f.cipher.get());
  int no_cache = 0;
  const OSSL_ALGORITHM* algorithms =
      provider == nullptr ? nullptr
                          : OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &no_cache);
  for (const OSSL_ALGORITHM* a = algorithms; a != nullptr && a->algorithm_names != nullptr; ++a) {
    if (!Names(a->algorithm_names)) continue;
    for (const OSSL_DISPATCH* d = a->implementation; d->function_id != 0; ++d) {
      switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX:
          f.newctx = OSSL_FUNC_cipher_newctx(d);
          break;
        case OSSL_FUNC_CIPHER_FREECTX:
          f.freectx = OSSL_FUNC_cipher_freectx(d);
          break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
          f.encrypt_init = OSSL_FUNC_cipher_encrypt_init(d);
          break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT:
          f.decrypt_init = OSSL_FUNC_cipher_decrypt_init(d);
          break;
        case OSSL_FUNC_CIPHER_UPDATE:
          f.update = OSSL_FUNC_cipher_update(d);
          break;
        case OSSL_FUNC_CIPHER_FINAL:
          f.final = OSSL_FUNC_cipher_final(d);
          break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
          f.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
          break;
        default:
          break;
      }
    }
    f.provider_context = OSSL_PROVIDER_get0_provider_ctx(provider);
    break;
  }
  if (algorithms != nullptr) {
    OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms);
  }
  if (!f.complete()) return Functions{};
  return f;
}

const Functions& Get() {
  static const Functions functions = Find();
  return functions;
}

}  // namespace

OpenSslChaCha::OpenSslChaCha() : f_(Get()) {
  if (!f_.complete()) throw std::runtime_error("OpenSSL offers no ChaCha20-Poly1305 provider");
  ctx_ = f_.newctx(f_.provider_context);
  if (ctx_ == nullptr) throw std::bad_alloc();
}

OpenSslChaCha::~OpenSslChaCha() { f_.freectx(ctx_); }

bool OpenSslChaCha::StartEncrypt(const uint8_t* key, const uint8_t* nonce) {
  encrypting_ = true;
  return f_.encrypt_init(ctx_, key, key ? kKeySize : 0, nonce, kNonceSize, nullptr) == 1;
}

bool OpenSslChaCha::StartDecrypt(const uint8_t* key, const uint8_t* nonce,
                                 const uint8_t* expected_tag) {
  encrypting_ = false;
  // The expected tag goes in with the key and nonce, as EVP_CipherInit_ex2 would pass it.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        const_cast<uint8_t*>(expected_tag), kTagSize),
      OSSL_PARAM_construct_end()};
  return f_.decrypt_init(ctx_, key, key ? kKeySize : 0, nonce, kNonceSize, params) == 1;
}

bool OpenSslChaCha::Update(uint8_t* out, const uint8_t* in, size_t size) {
  size_t written = 0;
  return f_.update(ctx_, out, &written, size, in, size) == 1 && written == size;
}

bool OpenSslChaCha::Finish(uint8_t* tag) {
  size_t written = 0;
  // ChaCha20-Poly1305 writes nothing at the end; the output pointer is not used.
  uint8_t none[1];
  if (f_.final(ctx_, none, &written, 0) != 1) return false;  // Decrypting: the tag failed.
  if (!encrypting_) return true;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
      OSSL_PARAM_construct_end()};
  return f_.get_ctx_params(ctx_, params) == 1;
}

}  // namespace ringv8::tunnel

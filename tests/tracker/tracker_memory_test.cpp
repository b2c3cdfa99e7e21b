// Bytes per (peer, service) entry of the TrackerTable at 1,000,000 entries (malloc's own
// accounting; the sanitizer build has its own allocator and is skipped).
#include <cstdio>

#include <gtest/gtest.h>
#include <malloc.h>

#include "tracker/tracker_table.h"

namespace ringv8::tracker {
namespace {

TEST(TrackerMemory, BytesPerEntryAtOneMillion) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan replaces malloc; measured in the regular build";
#endif
  constexpr uint32_t kServices = 10000, kPeersPerService = 100;
  const size_t before = mallinfo2().uordblks;
  {
    TrackerTable table;
    for (uint32_t s = 0; s < kServices; ++s) {
      wire::ServiceId service{};
      std::memcpy(service.data(), &s, sizeof(s));
      service[19] = 0x5A;
      for (uint32_t p = 0; p < kPeersPerService; ++p) {
        TrackerPeer peer;
        const uint32_t id = s * kPeersPerService + p;
        std::memcpy(peer.mid.data(), &id, sizeof(id));
        peer.mid[10] = static_cast<uint8_t>(s);
        peer.address = Address::Ipv4(0x0B000000u + id, 7000);
        peer.lan_address = Address::Ipv4(0xC0A80000u + (id & 0xFFFF), 7000);
        peer.last_seen = TimePoint(id);
        ASSERT_TRUE(table.Upsert(service, peer));
      }
    }
    ASSERT_EQ(table.stats().entries, uint64_t{kServices} * kPeersPerService);
    const size_t after = mallinfo2().uordblks;
    const double per_entry = static_cast<double>(after - before) / table.stats().entries;
    std::printf("TrackerTable: %.0f bytes per (peer, service) entry at %lu entries\n", per_entry,
                static_cast<unsigned long>(table.stats().entries));
    RecordProperty("bytes_per_entry", static_cast<int>(per_entry));
    EXPECT_LT(per_entry, 512.0);  // A regression guard; the figure itself goes in the README.
  }
}

}  // namespace
}  // namespace ringv8::tracker

// The size of a session generator's saved state (torch.get_rng_state), shared
// by the metadata rule and the kernels that write and read it.
#ifndef TENSORD_KERNELS_META_RNG_STATE_H_
#define TENSORD_KERNELS_META_RNG_STATE_H_

#include <cstdint>

namespace tensord {

// Little-endian uint64 words: a format tag, the initial seed, then the 312
// words and the position of the session's mt19937_64.
inline constexpr int64_t kRngStateWords = 2 + 312 + 1;
inline constexpr int64_t kRngStateBytes = 8 * kRngStateWords;
inline constexpr uint64_t kRngStateTag = 0x74640001'6d743634ull;  // "td", v1, "mt64"

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_RNG_STATE_H_

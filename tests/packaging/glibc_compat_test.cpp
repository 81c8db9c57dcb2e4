// The glibc 2.34 shims of packaging/glibc_compat.cpp, linked the way
// bootstrap is (static libstdc++ and libgcc): exceptions unwind through
// them, and _dl_find_object answers as glibc's own does.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

namespace {

using FindObject = int (*)(void*, dl_find_object*);

FindObject GlibcFindObject() {
  return reinterpret_cast<FindObject>(dlvsym(RTLD_DEFAULT, "_dl_find_object", "GLIBC_2.35"));
}

[[gnu::noinline]] void ThrowThroughFrames(int depth) {
  if (depth == 0) throw std::runtime_error("unwound");
  ThrowThroughFrames(depth - 1);
}

TEST(GlibcCompat, ExceptionsUnwind) {
  try {
    ThrowThroughFrames(5);
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()), "unwound");
  }
}

TEST(GlibcCompat, FindObjectAgreesWithGlibc) {
  FindObject glibc = GlibcFindObject();
  ASSERT_NE(glibc, nullptr) << "this test needs glibc 2.35 or later to compare with";
  ASSERT_NE(glibc, &_dl_find_object) << "the shim must be what this binary calls";
  // An address in this executable, one in libc, one in the loader.
  for (void* address : {reinterpret_cast<void*>(&ThrowThroughFrames),
                        reinterpret_cast<void*>(&dlvsym), reinterpret_cast<void*>(&printf)}) {
    dl_find_object ours{};
    dl_find_object theirs{};
    ASSERT_EQ(_dl_find_object(address, &ours), 0);
    ASSERT_EQ(glibc(address, &theirs), 0);
    EXPECT_EQ(ours.dlfo_eh_frame, theirs.dlfo_eh_frame);
    EXPECT_EQ(ours.dlfo_link_map, theirs.dlfo_link_map);
    EXPECT_LE(ours.dlfo_map_start, address);
    EXPECT_GT(ours.dlfo_map_end, address);
  }
  dl_find_object none{};
  EXPECT_EQ(_dl_find_object(nullptr, &none), -1);
}

TEST(GlibcCompat, Arc4randomGivesRandomValues) {
  std::set<std::uint32_t> values;
  for (int i = 0; i < 16; ++i) values.insert(arc4random());
  EXPECT_GE(values.size(), 15u);  // a repeat among 16 draws has odds of about 3e-8
}

TEST(GlibcCompat, Arc4randomBufFillsEveryByte) {
  // 64 bytes, filled twice: all zero or equal twice has odds of 2^-512.
  std::array<unsigned char, 64> first{};
  std::array<unsigned char, 64> second{};
  arc4random_buf(first.data(), first.size());
  arc4random_buf(second.data(), second.size());
  EXPECT_NE(first, second);
  EXPECT_NE(first, decltype(first){});
}

}  // namespace

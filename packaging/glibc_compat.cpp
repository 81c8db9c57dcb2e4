// Lets the Lambda binary run on Amazon Linux 2023 (glibc 2.34) although it is
// built on Debian 12 (glibc 2.36) with libstdc++ and libgcc linked in.
//
// GCC 12's static runtime, built against glibc 2.36, calls two functions
// glibc added after 2.34, and Debian's static expat a third:
//  - arc4random (2.36), from std::random_device, which libstdc++.a pulls in
//    with its string instantiations; this program never calls it (base/random.h).
//  - arc4random_buf (2.36), from expat (libexpat.a, aws/xml.cpp), which salts
//    its hash tables with it against hash flooding; here it is filled from
//    getrandom(), the kernel's generator that glibc's own arc4random_buf uses.
//  - _dl_find_object (2.35), from libgcc's unwinder, to find the exception
//    tables of the code that threw.
// Defining both here, hidden, makes the static link bind to these instead of
// libc's, so the binary needs nothing newer than GLIBC_2.34 (packaging checks
// it). _dl_find_object is built on dl_iterate_phdr, which is what the
// unwinder itself used before glibc 2.35.
#include <dlfcn.h>
#include <link.h>
#include <sys/random.h>

#include <cstdint>

// Addresses come from the ELF program headers as integers, and the names
// are glibc's own.
// NOLINTBEGIN(performance-no-int-to-ptr, readability-identifier-naming)
namespace {

struct Search {
  std::uintptr_t address;
  dl_find_object* result;
  bool found;
};

int VisitObject(dl_phdr_info* info, std::size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  std::uintptr_t start = UINTPTR_MAX;
  std::uintptr_t end = 0;
  bool contains = false;
  void* eh_frame = nullptr;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    const std::uintptr_t begin = info->dlpi_addr + header.p_vaddr;
    if (header.p_type == PT_LOAD) {
      const std::uintptr_t finish = begin + header.p_memsz;
      start = begin < start ? begin : start;
      end = finish > end ? finish : end;
      contains = contains || (search->address >= begin && search->address < finish);
    } else if (header.p_type == PT_GNU_EH_FRAME) {
      eh_frame = reinterpret_cast<void*>(begin);
    }
  }
  if (!contains) return 0;
  dl_find_object* result = search->result;
  result->dlfo_flags = 0;
  result->dlfo_map_start = reinterpret_cast<void*>(start);
  result->dlfo_map_end = reinterpret_cast<void*>(end);
  result->dlfo_eh_frame = eh_frame;
  result->dlfo_link_map = nullptr;
  Dl_info symbol{};
  void* link_map = nullptr;
  if (dladdr1(reinterpret_cast<void*>(search->address), &symbol, &link_map, RTLD_DL_LINKMAP) != 0) {
    result->dlfo_link_map = static_cast<struct link_map*>(link_map);
  }
  search->found = true;
  return 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("hidden"))) int _dl_find_object(void* address,
                                                          dl_find_object* result) noexcept {
  Search search{reinterpret_cast<std::uintptr_t>(address), result, false};
  dl_iterate_phdr(VisitObject, &search);
  return search.found ? 0 : -1;
}

__attribute__((visibility("hidden"))) std::uint32_t arc4random() noexcept {
  std::uint32_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  std::size_t filled = 0;
  while (filled < sizeof(value)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(value) - filled, 0);
    if (got > 0) filled += static_cast<std::size_t>(got);
  }
  return value;
}

__attribute__((visibility("hidden"))) void arc4random_buf(void* buffer, std::size_t size) noexcept {
  auto* bytes = static_cast<unsigned char*>(buffer);
  std::size_t filled = 0;
  while (filled < size) {
    const ssize_t got = getrandom(bytes + filled, size - filled, 0);
    if (got > 0) filled += static_cast<std::size_t>(got);
  }
}

}  // extern "C"
// NOLINTEND(performance-no-int-to-ptr, readability-identifier-naming)

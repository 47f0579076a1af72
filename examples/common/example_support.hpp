// example_support.hpp - what the examples share: command-line options, the
// run's checks, fatal errors and steady-clock time. Small and plain on
// purpose; nothing here is part of mpscq.
#pragma once

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace example {

using clock_type = std::chrono::steady_clock;

// The example's name, for messages; args sets it from argv[0].
inline std::string program_name = "example";

// Prints "<program>: <what>: <strerror(err)>" on stderr and exits 1.
[[noreturn]] inline void die(const char* what, int err = errno) {
  std::fprintf(stderr, "%s: %s: %s\n", program_name.c_str(), what, std::strerror(err));
  std::exit(1);
}

// `seconds` as a clock duration, e.g. for a deadline now() + to_duration(s).
inline clock_type::duration to_duration(double seconds) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

// Seconds from `since` to now.
inline double seconds_since(clock_type::time_point since) {
  return std::chrono::duration<double>(clock_type::now() - since).count();
}

// Command-line options: "--name=value" or "--name value", and flags "--name".
// Read each option once, with its default (the last occurrence wins), then
// call done(): an argument nobody read, or a value that does not parse,
// prints "usage: <program> <help>" on stderr and exits 2.
class args {
 public:
  args(int argc, char** argv, const char* help) : help_(help) {
    if (argc > 0) {
      const std::string_view a0 = argv[0];
      const std::size_t slash = a0.rfind('/');
      program_name = std::string(slash == std::string_view::npos ? a0 : a0.substr(slash + 1));
    }
    for (int i = 1; i < argc; ++i) args_.push_back({argv[i], false});
  }

  bool flag(std::string_view name) {
    bool seen = false;
    for (arg& a : args_)
      if (is_option(a.text, name)) a.used = seen = true;
    return seen;
  }

  std::string text(std::string_view name, std::string fallback) {
    const char* v = value(name);
    return v != nullptr ? std::string(v) : fallback;
  }

  // A number of type T (integral or floating point); out of T's range or
  // not a number at all is a usage error.
  template <class T>
  T number(std::string_view name, T fallback) {
    const char* v = value(name);
    if (v == nullptr) return fallback;
    const char* end = v + std::strlen(v);
    T out{};
    if constexpr (std::is_floating_point_v<T>) {
      char* e = nullptr;
      out = static_cast<T>(std::strtod(v, &e));
      if (e == v || e != end) usage();
    } else {
      const auto [p, ec] = std::from_chars(v, end, out);
      if (ec != std::errc{} || p != end) usage();
    }
    return out;
  }

  // Exits with the usage unless `valid` (the example's own range checks)
  // holds and every argument was read.
  void done(bool valid = true) const {
    if (!valid) usage();
    for (const arg& a : args_)
      if (!a.used) usage();
  }

  [[noreturn]] void usage() const {
    std::fprintf(stderr, "usage: %s %s", program_name.c_str(), help_);
    std::exit(2);
  }

 private:
  struct arg {
    const char* text;
    bool used;
  };

  static bool is_option(std::string_view a, std::string_view name) {
    return a.size() == name.size() + 2 && a.substr(0, 2) == "--" && a.substr(2) == name;
  }

  const char* value(std::string_view name) {
    const char* found = nullptr;
    for (std::size_t i = 0; i < args_.size(); ++i) {
      const std::string_view a = args_[i].text;
      if (a.size() > name.size() + 2 && a.substr(0, 2) == "--" && a.substr(2, name.size()) == name &&
          a[name.size() + 2] == '=') {
        args_[i].used = true;
        found = args_[i].text + name.size() + 3;
      } else if (is_option(a, name)) {
        if (i + 1 == args_.size()) usage();
        args_[i].used = args_[i + 1].used = true;
        found = args_[++i].text;
      }
    }
    return found;
  }

  const char* help_;
  std::vector<arg> args_;
};

// The run's checks. A failed one prints "  FAIL<where>: <what>" on stdout
// and fails the run; every check still runs, so one run shows all failures.
class checks {
 public:
  explicit checks(std::string where = {}) : where_(std::move(where)) {}

  bool operator()(bool cond, const char* what) {
    if (!cond) std::printf("  FAIL%s: %s\n", where_.c_str(), what);
    return record(cond);
  }
  // The same, with a count of what went wrong: "  FAIL<where>: <what> (<n>)".
  bool operator()(bool cond, const char* what, std::uint64_t n) {
    if (!cond) std::printf("  FAIL%s: %s (%llu)\n", where_.c_str(), what, static_cast<unsigned long long>(n));
    return record(cond);
  }

  void fail() { ok_ = false; }  // a failure already reported elsewhere
  bool ok() const { return ok_; }

  // Prints "<program>: OK" or "<program>: FAILED"; returns the exit status.
  int summary() const {
    std::printf("%s: %s\n", program_name.c_str(), ok_ ? "OK" : "FAILED");
    return ok_ ? 0 : 1;
  }

 private:
  bool record(bool cond) {
    ok_ = ok_ && cond;
    return cond;
  }

  std::string where_;
  bool ok_ = true;
};

}  // namespace example

// Result<T>: the value of an operation that a peer, the disk, DNS, a milter or LMDB can make
// fail, or a typed Error saying why. Used in every process; never thrown across the event loop.
// GCC 12 has no std::expected, so this is the small expected-shaped type the style guide asks for.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace postern {

enum class ErrorKind {
  kSystem,     // a system call failed; sys_errno says which errno
  kParse,      // input (file, network, record) did not have the expected form
  kLimit,      // a configured or built-in limit was exceeded
  kNotFound,   // a lookup found nothing
  kConfig,     // configuration is wrong
  kTemporary,  // try again later (peer busy, resource short)
  kPermanent,  // will not succeed as asked
};

struct Error {
  ErrorKind kind = ErrorKind::kParse;
  std::string message;
  int sys_errno = 0;

  static Error system(std::string what, int err = errno) {
    return Error{ErrorKind::kSystem, std::move(what), err};
  }
  static Error parse(std::string what) { return Error{ErrorKind::kParse, std::move(what), 0}; }
  static Error limit(std::string what) { return Error{ErrorKind::kLimit, std::move(what), 0}; }
  static Error not_found(std::string what) {
    return Error{ErrorKind::kNotFound, std::move(what), 0};
  }
  static Error config(std::string what) { return Error{ErrorKind::kConfig, std::move(what), 0}; }
  static Error temporary(std::string what) {
    return Error{ErrorKind::kTemporary, std::move(what), 0};
  }
  // "message: strerror(errno)" for system errors, the message otherwise.
  std::string describe() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result of an operation with no value: ok, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}
  static Status success() { return Status(); }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace postern

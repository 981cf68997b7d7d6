// JS values to what the C structs point at. The library's structs hold
// pointers; these own the bytes behind them for as long as a call runs on
// another thread (the JS values may be gone by then).
#pragma once
#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sm_node {

// A list of strings as a NULL-terminated char* array.
class CStrings {
public:
    void Add(std::string s) { strings_.push_back(std::move(s)); }
    bool empty() const { return strings_.empty(); }
    // Valid until the next Add.
    const char *const *get() const;

private:
    std::vector<std::string> strings_;
    mutable std::vector<const char *> ptrs_;
};

// The options object: undefined and null are {}, anything else not an
// object is a TypeError naming `what`.
Napi::Object Options(Napi::Env env, const Napi::Value &v, const char *what);

std::string String(const Napi::Value &v, const std::string &what);
std::optional<std::string> OptString(const Napi::Object &o, const char *key);
// A whole number in [0, max]; absent (undefined or null): dflt. Anything
// else is a TypeError saying that `what` ('The "port" argument') must be
// one.
uint64_t OptUint(const Napi::Value &v, const std::string &what, uint64_t dflt, uint64_t max);
// The same, required.
uint64_t Uint(const Napi::Value &v, const std::string &what, uint64_t max);
// An option's (what: 'The "key" option').
uint64_t OptUint(const Napi::Object &o, const char *key, uint64_t dflt, uint64_t max);
bool OptBool(const Napi::Object &o, const char *key);
// An array of strings; absent: empty.
CStrings OptStrings(const Napi::Object &o, const char *key);
CStrings Strings(const Napi::Value &v, const std::string &what);
// A Buffer, TypedArray or string, copied.
std::string Bytes(const Napi::Value &v, const std::string &what);

// C strings to JS: NULL is null.
Napi::Value JsString(Napi::Env env, const char *s);
Napi::Value JsStrings(Napi::Env env, char *const *list);

}  // namespace sm_node

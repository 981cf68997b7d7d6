// Errors as Node's own system errors look: an Error whose message is the
// library's sentence (sm_last_error, read on the thread that failed), with
// code ('ENOENT', or 'SM_ENOKVM' for the library's own numbers) and errno
// (the negative number the C call returned, as Node's errno is).
#pragma once
#include <napi.h>

#include <string>

namespace sm_node {

Napi::Error LibraryError(Napi::Env env, int err, const std::string &sentence);

// A TypeError with Node's code for a wrong argument.
Napi::Error ArgumentError(Napi::Env env, const std::string &sentence);

}  // namespace sm_node

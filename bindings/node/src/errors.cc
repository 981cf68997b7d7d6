#include "errors.h"

#include <string.h>

#include "supermachine.h"

namespace sm_node {

namespace {

// The name of an error number of either sign: "ENOENT", "SM_ENOKVM".
std::string ErrorCode(int err)
{
    int e = err < 0 ? -err : err;
    if (e == SM_ENOKVM)
        return "SM_ENOKVM";
    if (e == SM_EKVMPERM)
        return "SM_EKVMPERM";
    const char *name = strerrorname_np(e);  // glibc 2.32
    return name ? name : "E" + std::to_string(e);
}

}  // namespace

Napi::Error LibraryError(Napi::Env env, int err, const std::string &sentence)
{
    // A call that failed without a word (none should) still says what.
    Napi::Error e = Napi::Error::New(env, sentence.empty() ? sm_strerror(err) : sentence);
    e.Set("code", ErrorCode(err));
    e.Set("errno", Napi::Number::New(env, err < 0 ? err : -err));
    return e;
}

Napi::Error ArgumentError(Napi::Env env, const std::string &sentence)
{
    Napi::Error e = Napi::TypeError::New(env, sentence);
    e.Set("code", "ERR_INVALID_ARG_TYPE");
    return e;
}

}  // namespace sm_node

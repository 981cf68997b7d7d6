// sm_exec from (argv, options), owning what it points at, and
// sm_exec_result back as {exitCode, signal, timedOut, stdout, stderr}.
#pragma once
#include <napi.h>

#include <optional>
#include <string>

#include "convert.h"
#include "supermachine.h"

namespace sm_node {

class ExecSpec {
public:
    // argv: an array of strings (or null with options.fromImage: the
    // image's own command). stream: for spawn, where stdin may be 'pipe'.
    ExecSpec(Napi::Env env, const Napi::Value &argv, const Napi::Value &options, bool stream);
    ExecSpec(const ExecSpec &) = delete;
    // Points into this object.
    sm_exec Get() const;
    // spawn: stdin: 'pipe' (a Writable, sm_exec_write_stdin).
    bool stdin_stream() const { return stdin_stream_; }

private:
    CStrings argv_, env_;
    bool has_argv_ = false, has_env_ = false;
    std::optional<std::string> cwd_, user_;
    uint32_t uid_ = 0, gid_ = 0;
    uint32_t timeout_ms_ = 0;
    bool pty_ = false, from_image_ = false, stdin_stream_ = false;
    uint16_t rows_ = 0, cols_ = 0;
    std::optional<std::string> stdin_;
    size_t max_output_ = 0;
};

// A result that frees what the library put in it.
struct OwnedResult {
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    OwnedResult() = default;
    OwnedResult(const OwnedResult &) = delete;
    ~OwnedResult() { sm_exec_result_free(&r); }
};

// The result as JS sees it; the output is copied (the result is freed by
// its owner).
Napi::Object ExecResult(Napi::Env env, const sm_exec_result &r, bool with_output);

// "SIGKILL" for 9; null for 0.
Napi::Value SignalName(Napi::Env env, int signo);

}  // namespace sm_node

#include "exec_spec.h"

#include <string.h>

#include "errors.h"

namespace sm_node {

namespace {

// env: {NAME: value} or ["NAME=value", ...].
CStrings Env(Napi::Env env, const Napi::Value &v)
{
    if (v.IsArray())
        return Strings(v, "env");
    if (!v.IsObject())
        throw ArgumentError(env, "The \"env\" option must be an object or an array of strings");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    CStrings out;
    for (uint32_t i = 0; i < keys.Length(); i++) {
        std::string k = keys.Get(i).ToString().Utf8Value();
        Napi::Value val = o.Get(k);
        if (val.IsUndefined())
            continue;
        out.Add(k + "=" + val.ToString().Utf8Value());
    }
    return out;
}

}  // namespace

ExecSpec::ExecSpec(Napi::Env env, const Napi::Value &argv, const Napi::Value &options, bool stream)
{
    Napi::Object o = Options(env, options, "options");
    from_image_ = OptBool(o, "fromImage");
    if (!argv.IsNull() && !argv.IsUndefined()) {
        argv_ = Strings(argv, "argv");
        has_argv_ = true;
    } else if (!from_image_) {
        throw ArgumentError(env, "The \"argv\" argument must be an array of strings");
    }
    Napi::Value e = o.Get("env");
    if (!e.IsUndefined() && !e.IsNull()) {
        env_ = Env(env, e);
        has_env_ = true;
    }
    cwd_ = OptString(o, "cwd");
    // user: "name[:group]" or "uid[:gid]" as the guest's /etc/passwd has
    // it, or a number (a uid, gid 0 unless gid says).
    Napi::Value u = o.Get("user");
    if (u.IsNumber())
        uid_ = (uint32_t)OptUint(o, "user", 0, UINT32_MAX);
    else
        user_ = OptString(o, "user");
    gid_ = (uint32_t)OptUint(o, "gid", 0, UINT32_MAX);
    timeout_ms_ = (uint32_t)OptUint(o, "timeout", 0, UINT32_MAX);
    pty_ = OptBool(o, "tty");
    rows_ = (uint16_t)OptUint(o, "rows", 0, 65535);
    cols_ = (uint16_t)OptUint(o, "cols", 0, 65535);
    max_output_ = (size_t)OptUint(o, "maxOutput", 0, SIZE_MAX >> 1);
    Napi::Value in = o.Get("stdin");
    if (stream && in.IsString() && in.As<Napi::String>().Utf8Value() == "pipe")
        stdin_stream_ = true;
    else if (!in.IsUndefined() && !in.IsNull())
        stdin_ = Bytes(in, "stdin");
}

sm_exec ExecSpec::Get() const
{
    sm_exec ex = SM_EXEC_INIT;
    ex.argv = has_argv_ ? argv_.get() : nullptr;
    ex.env = has_env_ ? env_.get() : nullptr;
    ex.cwd = cwd_ ? cwd_->c_str() : nullptr;
    ex.user = user_ ? user_->c_str() : nullptr;
    ex.uid = uid_, ex.gid = gid_;
    ex.timeout_ms = timeout_ms_;
    ex.pty = pty_;
    ex.rows = rows_, ex.cols = cols_;
    ex.from_image = from_image_;
    ex.max_output = max_output_;
    ex.stdin_stream = stdin_stream_;
    if (stdin_) {
        ex.stdin_data = stdin_->data();
        ex.stdin_len = stdin_->size();
    }
    return ex;
}

Napi::Value SignalName(Napi::Env env, int signo)
{
    const char *abbrev = signo > 0 ? sigabbrev_np(signo) : nullptr;  // glibc 2.32
    if (!abbrev)
        return signo > 0 ? Napi::Value(Napi::Number::New(env, signo)) : env.Null();
    return Napi::String::New(env, std::string("SIG") + abbrev);
}

Napi::Object ExecResult(Napi::Env env, const sm_exec_result &r, bool with_output)
{
    Napi::Object o = Napi::Object::New(env);
    o.Set("exitCode", Napi::Number::New(env, r.exit_status));
    o.Set("signal", SignalName(env, r.signal));
    o.Set("timedOut", Napi::Boolean::New(env, r.timed_out));
    o.Set("peakRssKib", Napi::Number::New(env, (double)r.peak_rss_kib));
    if (with_output) {
        o.Set("stdout", Napi::Buffer<char>::Copy(env, r.stdout_data ? r.stdout_data : "", r.stdout_len));
        o.Set("stderr", Napi::Buffer<char>::Copy(env, r.stderr_data ? r.stderr_data : "", r.stderr_len));
        o.Set("outputTruncated", Napi::Boolean::New(env, r.output_truncated));
    }
    return o;
}

}  // namespace sm_node

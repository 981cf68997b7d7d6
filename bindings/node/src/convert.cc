#include "convert.h"

#include "errors.h"

namespace sm_node {

const char *const *CStrings::get() const
{
    ptrs_.clear();
    for (const std::string &s : strings_)
        ptrs_.push_back(s.c_str());
    ptrs_.push_back(nullptr);
    return ptrs_.data();
}

Napi::Object Options(Napi::Env env, const Napi::Value &v, const char *what)
{
    if (v.IsUndefined() || v.IsNull())
        return Napi::Object::New(env);
    if (!v.IsObject() || v.IsArray())
        throw ArgumentError(env, std::string("The \"") + what + "\" argument must be an object");
    return v.As<Napi::Object>();
}

std::string String(const Napi::Value &v, const std::string &what)
{
    if (!v.IsString())
        throw ArgumentError(v.Env(), "The \"" + what + "\" argument must be of type string");
    return v.As<Napi::String>().Utf8Value();
}

std::optional<std::string> OptString(const Napi::Object &o, const char *key)
{
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull())
        return std::nullopt;
    if (!v.IsString())
        throw ArgumentError(o.Env(), std::string("The \"") + key + "\" option must be a string");
    return v.As<Napi::String>().Utf8Value();
}

uint64_t Uint(const Napi::Value &v, const std::string &what, uint64_t max)
{
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= (double)max) || d != (double)(uint64_t)d)
        throw ArgumentError(v.Env(), what + " must be a whole number from 0 to " + std::to_string(max));
    return (uint64_t)d;
}

uint64_t OptUint(const Napi::Value &v, const std::string &what, uint64_t dflt, uint64_t max)
{
    return v.IsUndefined() || v.IsNull() ? dflt : Uint(v, what, max);
}

uint64_t OptUint(const Napi::Object &o, const char *key, uint64_t dflt, uint64_t max)
{
    return OptUint(o.Get(key), std::string("The \"") + key + "\" option", dflt, max);
}

bool OptBool(const Napi::Object &o, const char *key)
{
    return o.Get(key).ToBoolean().Value();
}

CStrings Strings(const Napi::Value &v, const std::string &what)
{
    if (!v.IsArray())
        throw ArgumentError(v.Env(), "The \"" + what + "\" argument must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    CStrings out;
    for (uint32_t i = 0; i < a.Length(); i++)
        out.Add(String(a.Get(i), what + "[" + std::to_string(i) + "]"));
    return out;
}

CStrings OptStrings(const Napi::Object &o, const char *key)
{
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull())
        return CStrings();
    return Strings(v, key);
}

std::string Bytes(const Napi::Value &v, const std::string &what)
{
    if (v.IsString())
        return v.As<Napi::String>().Utf8Value();
    if (v.IsTypedArray()) {
        Napi::TypedArray t = v.As<Napi::TypedArray>();
        const char *base = static_cast<const char *>(t.ArrayBuffer().Data()) + t.ByteOffset();
        return std::string(base, t.ByteLength());
    }
    throw ArgumentError(v.Env(), "The \"" + what + "\" argument must be a string, Buffer or Uint8Array");
}

Napi::Value JsString(Napi::Env env, const char *s)
{
    return s ? Napi::String::New(env, s) : env.Null();
}

Napi::Value JsStrings(Napi::Env env, char *const *list)
{
    if (!list)
        return env.Null();
    Napi::Array a = Napi::Array::New(env);
    for (uint32_t i = 0; list[i]; i++)
        a.Set(i, Napi::String::New(env, list[i]));
    return a;
}

}  // namespace sm_node

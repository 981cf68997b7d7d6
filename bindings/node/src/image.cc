#include "image.h"

#include <string.h>

#include "addon.h"
#include "convert.h"
#include "errors.h"
#include "runner.h"

namespace sm_node {

namespace {

using HandlePtr = std::shared_ptr<ImageHandle>;

// Everything sm_image_open reads, owned until the call has returned.
struct OpenArgs {
    std::string ref;
    std::optional<std::string> platform, username, password;
    CStrings insecure, mirrors;
    sm_pull_policy policy = SM_PULL_MISSING;
    HandlePtr h = std::make_shared<ImageHandle>();

    int Run()
    {
        sm_pull_options pull = SM_PULL_OPTIONS_INIT;
        pull.platform = platform ? platform->c_str() : nullptr;
        pull.username = username ? username->c_str() : nullptr;
        pull.password = password ? password->c_str() : nullptr;
        pull.insecure_registries = insecure.empty() ? nullptr : insecure.get();
        pull.mirrors = mirrors.empty() ? nullptr : mirrors.get();
        sm_image_open_options o = SM_IMAGE_OPEN_OPTIONS_INIT;
        o.pull_policy = policy;
        o.pull = &pull;
        return sm_image_open(ref.c_str(), &o, &h->image);
    }
};

sm_pull_policy Policy(Napi::Env env, const std::optional<std::string> &s)
{
    if (!s || *s == "missing")
        return SM_PULL_MISSING;
    if (*s == "always")
        return SM_PULL_ALWAYS;
    if (*s == "never")
        return SM_PULL_NEVER;
    throw ArgumentError(env, "pullPolicy is 'missing', 'always' or 'never', not '" + *s + "'");
}

}  // namespace

Napi::Function Image::Define(Napi::Env env)
{
    return DefineClass(env, "NativeImage",
                       {InstanceMethod<&Image::Info>("info"),
                        InstanceMethod<&Image::Rootfs>("rootfs"),
                        InstanceMethod<&Image::Close>("close")});
}

Image::Image(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Image>(info)
{
    if (info.Length() != 1 || !info[0].IsExternal())
        throw Napi::TypeError::New(info.Env(), "images come from Image.open or Image.fromSnapshot");
    h_ = *info[0].As<Napi::External<HandlePtr>>().Data();
}

Napi::Object Image::New(Napi::Env env, HandlePtr h)
{
    return Data(env).image.New({Napi::External<HandlePtr>::New(env, &h)});
}

HandlePtr Image::From(const Napi::Value &v)
{
    Napi::Env env = v.Env();
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Data(env).image.Value()))
        throw ArgumentError(env, "The \"image\" argument must be an Image");
    Image *img = Image::Unwrap(v.As<Napi::Object>());
    if (!img->h_)
        throw LibraryError(env, -EBADF, "the image was closed (image.close()): open it again");
    return img->h_;
}

Napi::Value Image::Open(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    auto a = std::make_shared<OpenArgs>();
    a->ref = String(info[0], "ref");
    Napi::Object o = Options(env, info[1], "options");
    a->policy = Policy(env, OptString(o, "pullPolicy"));
    a->platform = OptString(o, "platform");
    a->username = OptString(o, "username");
    a->password = OptString(o, "password");
    a->insecure = OptStrings(o, "insecureRegistries");
    a->mirrors = OptStrings(o, "mirrors");
    return Submit(env, nullptr, [a] { return a->Run(); },
                  [a](Napi::Env e) -> Napi::Value { return New(e, a->h); });
}

Napi::Value Image::FromSnapshot(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    auto dir = std::make_shared<std::string>(String(info[0], "dir"));
    auto h = std::make_shared<ImageHandle>();
    return Submit(env, nullptr, [dir, h] { return sm_image_from_snapshot(dir->c_str(), &h->image); },
                  [h](Napi::Env e) -> Napi::Value { return New(e, h); });
}

Napi::Value Image::Info(const Napi::CallbackInfo &info)
{
    // In memory since the open: no call to wait for.
    const sm_image_info *i = h_ ? sm_image_get_info(h_->image) : nullptr;
    return i ? Napi::Value(ImageInfo(info.Env(), i)) : info.Env().Null();
}

Napi::Value Image::Rootfs(const Napi::CallbackInfo &info)
{
    return JsString(info.Env(), h_ ? sm_image_rootfs(h_->image) : nullptr);
}

Napi::Value Image::Close(const Napi::CallbackInfo &info)
{
    h_.reset();  // freed here unless a start or a pool still holds it
    return info.Env().Undefined();
}

}  // namespace sm_node

// Image: an opened image (sm_image), shared by the JS object, the calls in
// flight that use it and the pools made of it: freed when the last of them
// lets go, so that image.close() cannot pull it from under a pool.
#pragma once
#include <napi.h>

#include <memory>

#include "supermachine.h"

namespace sm_node {

struct ImageHandle {
    sm_image *image = nullptr;
    ~ImageHandle() { sm_image_close(image); }
};

class Image : public Napi::ObjectWrap<Image> {
public:
    static Napi::Function Define(Napi::Env env);
    static Napi::Object New(Napi::Env env, std::shared_ptr<ImageHandle> h);
    // native.openImage(ref, options), native.imageFromSnapshot(dir): promises.
    static Napi::Value Open(const Napi::CallbackInfo &info);
    static Napi::Value FromSnapshot(const Napi::CallbackInfo &info);
    // The handle of an Image value; a TypeError for anything else, an
    // EBADF error for a closed one.
    static std::shared_ptr<ImageHandle> From(const Napi::Value &v);

    explicit Image(const Napi::CallbackInfo &info);

private:
    Napi::Value Info(const Napi::CallbackInfo &info);
    Napi::Value Rootfs(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);

    std::shared_ptr<ImageHandle> h_;
};

// sm_image_info as a plain object.
Napi::Object ImageInfo(Napi::Env env, const sm_image_info *info);

}  // namespace sm_node

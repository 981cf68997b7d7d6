// sm_image_info (what the store knows of an image) as a plain object with
// camelCase names, its lists as arrays.
#include "convert.h"
#include "image.h"

namespace sm_node {

Napi::Object ImageInfo(Napi::Env env, const sm_image_info *i)
{
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", i->name);
    o.Set("digest", i->digest);
    o.Set("indexDigest", i->index_digest);
    o.Set("configDigest", i->config_digest);
    o.Set("mediaType", i->media_type);
    o.Set("os", i->os);
    o.Set("architecture", i->architecture);
    o.Set("variant", i->variant);
    o.Set("created", i->created);
    o.Set("stored", Napi::Number::New(env, (double)i->stored));
    o.Set("bytes", Napi::Number::New(env, (double)i->bytes));
    Napi::Array layers = Napi::Array::New(env, i->layer_count);
    for (size_t k = 0; k < i->layer_count; k++) {
        Napi::Object l = Napi::Object::New(env);
        l.Set("digest", i->layers[k].digest);
        l.Set("mediaType", i->layers[k].media_type);
        l.Set("size", Napi::Number::New(env, (double)i->layers[k].size));
        layers.Set(k, l);
    }
    o.Set("layers", layers);
    o.Set("entrypoint", JsStrings(env, i->entrypoint));
    o.Set("cmd", JsStrings(env, i->cmd));
    o.Set("env", JsStrings(env, i->env));
    o.Set("workingDir", JsString(env, i->working_dir));
    o.Set("user", JsString(env, i->user));
    o.Set("exposedPorts", JsStrings(env, i->exposed_ports));
    o.Set("stopSignal", JsString(env, i->stop_signal));
    Napi::Object labels = Napi::Object::New(env);
    for (size_t k = 0; k < i->label_count; k++)
        labels.Set(i->labels[k].key, JsString(env, i->labels[k].value));
    o.Set("labels", labels);
    return o;
}

}  // namespace sm_node

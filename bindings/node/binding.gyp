# The addon: one shared object over libsupermachine (scripts/build.js runs
# node-gyp on this; scripts/flags.js answers the <!@ questions).
{
  "targets": [{
    "target_name": "supermachine",
    "sources": [
      "src/addon.cc", "src/runner.cc", "src/errors.cc", "src/convert.cc",
      "src/image.cc", "src/image_info.cc", "src/vm_config.cc", "src/vm.cc", "src/vm_files.cc",
      "src/vm_net.cc", "src/exec_spec.cc", "src/exec.cc", "src/exec_stream.cc",
      "src/pool.cc"
    ],
    "include_dirs": ["<!(node scripts/flags.js addon-api)"],
    "cflags": ["<!@(node scripts/flags.js cflags)"],
    # The SM_..._INIT macros name only size: the rest is zero, on purpose.
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "libraries": ["<!@(node scripts/flags.js libs)"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"]
  }]
}

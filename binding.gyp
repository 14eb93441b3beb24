{
  "variables": {
    "tb_march%": "<!(node -p \"process.env.TENSORBOLT_MARCH || 'native'\")"
  },
  "targets": [
    {
      "target_name": "tensorbolt",
      "sources": ["<!@(node scripts/native-sources.cjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/openblas.cjs include_dirs)",
        "<!@(node scripts/mpi.cjs include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node scripts/openblas.cjs defines)",
        "<!@(node scripts/mpi.cjs defines)"
      ],
      "libraries": ["<!@(node scripts/openblas.cjs libraries)", "<!@(node scripts/mpi.cjs libraries)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-march=<(tb_march)", "-fno-math-errno", "-Wall", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
      }
    }
  ]
}

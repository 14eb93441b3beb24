// CUDA emulator (testing only): the two enums of CUDA's library_types.h that tensorbolt uses.
#pragma once
typedef enum cudaDataType_t { CUDA_R_32F = 0 } cudaDataType;
typedef enum libraryPropertyType_t { MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL } libraryPropertyType;

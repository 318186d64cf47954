# LibTorch targets, defined by hand from the torch wheel's contents (docs/libtorch.md,
# docs/cuda.md). The wheel's own TorchConfig.cmake insists on a CUDA toolkit, so neither
# variant uses it.
#
#   accel::torch_headers  include folders and defines only: what libaccel's objects compile
#                         against (the same headers serve both variants)
#   accel::torch          CPU: libtorch_cpu.so + libc10.so from ACCEL_LIBTORCH_DIR
#                         (scripts/setup-libtorch.sh), c10d with Gloo
#   accel::torch_cuda     CUDA (ACCEL_WITH_CUDA=ON): libtorch_cuda.so, libc10_cuda.so and the CPU
#                         libraries, all from ACCEL_TORCH_CUDA_DIR (scripts/setup-cuda.sh), plus
#                         the CUDA runtime, cuBLAS/cuSPARSE/cuSOLVER and NCCL headers from the
#                         NVIDIA wheels; c10d with Gloo and NCCL
#
# accel_torch_executable() builds a program once per variant from one set of objects.

set(ACCEL_LIBTORCH_DIR "$ENV{HOME}/.cache/accel/libtorch-2.11.0" CACHE PATH
    "LibTorch folder (include/, lib/) made by scripts/setup-libtorch.sh")
set(ACCEL_TORCH_CUDA_DIR "$ENV{HOME}/.cache/accel/torch-cuda-2.11.0" CACHE PATH
    "CUDA build folder (torch/lib, nvidia/*) made by scripts/setup-cuda.sh")

if(NOT EXISTS "${ACCEL_LIBTORCH_DIR}/lib/libtorch_cpu.so")
  message(FATAL_ERROR "LibTorch not found in ACCEL_LIBTORCH_DIR=${ACCEL_LIBTORCH_DIR}: "
                      "run scripts/setup-libtorch.sh")
endif()

find_path(ACCEL_GLOO_INCLUDE gloo/rendezvous/store.h PATHS /usr/include REQUIRED)

# --- headers (both variants) ----------------------------------------------------------------
add_library(accel_torch_headers INTERFACE)
target_include_directories(accel_torch_headers SYSTEM INTERFACE
  "${ACCEL_LIBTORCH_DIR}/include" "${ACCEL_LIBTORCH_DIR}/include/torch/csrc/api/include"
  "${ACCEL_GLOO_INCLUDE}")
target_compile_definitions(accel_torch_headers INTERFACE USE_C10D_GLOO _GLIBCXX_USE_CXX11_ABI=1)
target_link_libraries(accel_torch_headers INTERFACE Threads::Threads)
add_library(accel::torch_headers ALIAS accel_torch_headers)

# imported_torch_lib(<target> <file>): one shared library of a variant.
function(imported_torch_lib target file)
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${file}")
endfunction()

# --- CPU --------------------------------------------------------------------------------------
imported_torch_lib(accel_c10 "${ACCEL_LIBTORCH_DIR}/lib/libc10.so")
imported_torch_lib(accel_torch_cpu "${ACCEL_LIBTORCH_DIR}/lib/libtorch_cpu.so")
add_library(accel_torch INTERFACE)
target_link_libraries(accel_torch INTERFACE accel_torch_headers accel_torch_cpu accel_c10)
# libtorch_cpu.so needs libcupti.so.13 and libcudart.so.13, which sit beside it.
target_link_options(accel_torch INTERFACE
  "LINKER:-rpath,${ACCEL_LIBTORCH_DIR}/lib" "LINKER:-rpath-link,${ACCEL_LIBTORCH_DIR}/lib")
add_library(accel::torch ALIAS accel_torch)
add_library(accel::torch_cpu ALIAS accel_torch_cpu)

# --- CUDA -------------------------------------------------------------------------------------
if(ACCEL_WITH_CUDA)
  set(_site "${ACCEL_TORCH_CUDA_DIR}")
  set(_lib "${_site}/torch/lib")
  if(NOT EXISTS "${_lib}/libtorch_cuda.so" OR NOT EXISTS "${_site}/nvidia/nccl/include/nccl.h")
    message(FATAL_ERROR "ACCEL_WITH_CUDA=ON, but ACCEL_TORCH_CUDA_DIR=${_site} has no "
                        "torch/lib/libtorch_cuda.so or NCCL headers: run scripts/setup-cuda.sh")
  endif()
  foreach(_l c10 torch_cpu c10_cuda torch_cuda)
    imported_torch_lib(accel_cuda_${_l} "${_lib}/lib${_l}.so")
  endforeach()
  # gpu_cuda.cpp calls the CUDA runtime itself (device count and its error, PCI bus ids).
  imported_torch_lib(accel_cuda_cudart "${_site}/nvidia/cu13/lib/libcudart.so.13")
  add_library(accel_torch_cuda INTERFACE)
  target_include_directories(accel_torch_cuda SYSTEM INTERFACE
    "${_site}/nvidia/cu13/include" "${_site}/nvidia/nccl/include")
  target_compile_definitions(accel_torch_cuda INTERFACE USE_C10D_NCCL USE_CUDA)
  target_link_libraries(accel_torch_cuda INTERFACE accel_torch_headers
    accel_cuda_torch_cuda accel_cuda_c10_cuda accel_cuda_torch_cpu accel_cuda_c10 accel_cuda_cudart)
  # libtorch_cuda.so registers the CUDA kernels, allocator and hooks when it loads, so it must
  # stay NEEDED even where nothing references it (distributions that default to --as-needed).
  # One rpath, to a folder laid out like site-packages: libtorch_cuda.so's own RUNPATH
  # ($ORIGIN/../../nvidia/*/lib) then finds the CUDA libraries. A GPU machine's own torch
  # takes over through LD_LIBRARY_PATH (scripts/gpu-check.sh).
  set(_rpath_link "${_lib}")  # the runtime resolves libcudart.so.13 too, through libtorch_cuda's RUNPATH
  foreach(_d cu13 nccl cudnn cusparselt nvshmem)
    string(APPEND _rpath_link ":${_site}/nvidia/${_d}/lib")
  endforeach()
  target_link_options(accel_torch_cuda INTERFACE "LINKER:--no-as-needed"
    "LINKER:-rpath,${_lib}" "LINKER:-rpath-link,${_rpath_link}")
  add_library(accel::torch_cuda ALIAS accel_torch_cuda)
endif()

# accel_torch_executable(NAME <target> SOURCES <files...> [LIBS <targets...>]
#                        [CUDA_LIBS <targets...>] [INCLUDES <dirs...>])
# Compiles SOURCES once (an object library against accel::torch_headers) and links
#   <target>       with LIBS (e.g. accel::core)                 -> <build>/<dir>/<target>
#   <target>-cuda  with CUDA_LIBS (e.g. accel::core_cuda), when ACCEL_WITH_CUDA, named like the
#                  CPU program                                   -> <build>/cuda/<target>
# CUDA_LIBS defaults to LIBS with accel::core replaced by accel::core_cuda.
function(accel_torch_executable)
  cmake_parse_arguments(E "" "NAME" "SOURCES;LIBS;CUDA_LIBS;INCLUDES" ${ARGN})
  set(_obj ${E_NAME}_objects)
  add_library(${_obj} OBJECT ${E_SOURCES})
  target_include_directories(${_obj} PRIVATE ${E_INCLUDES})
  # The objects need only headers; usage requirements come through the libraries.
  target_link_libraries(${_obj} PRIVATE ${E_LIBS})
  add_executable(${E_NAME} $<TARGET_OBJECTS:${_obj}>)
  target_link_libraries(${E_NAME} PRIVATE ${E_LIBS})
  if(ACCEL_WITH_CUDA)
    if(NOT E_CUDA_LIBS)
      list(TRANSFORM E_LIBS REPLACE "^accel::core$" "accel::core_cuda" OUTPUT_VARIABLE E_CUDA_LIBS)
    endif()
    add_executable(${E_NAME}-cuda $<TARGET_OBJECTS:${_obj}>)
    target_link_libraries(${E_NAME}-cuda PRIVATE ${E_CUDA_LIBS})
    set_target_properties(${E_NAME}-cuda PROPERTIES OUTPUT_NAME ${E_NAME}
      RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/cuda")
  endif()
endfunction()

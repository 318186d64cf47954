# CPU targets for LibTorch unpacked from the torch wheel by scripts/setup-libtorch.sh.
#
# The wheel's own TorchConfig.cmake is for a CUDA build and fails without a CUDA toolkit,
# so the CPU build defines its targets here:
#   accel::c10        libc10.so
#   accel::torch_cpu  libtorch_cpu.so + headers (+ c10d with Gloo), ABI and rpath set
# With ACCEL_WITH_CUDA=ON the wheel's (or the machine's) TorchConfig.cmake is used instead,
# which brings libtorch_cuda, ProcessGroupNCCL and CUDA autocast.

set(ACCEL_LIBTORCH_DIR "$ENV{HOME}/.cache/accel/libtorch-2.11.0" CACHE PATH
    "LibTorch folder (include/, lib/) made by scripts/setup-libtorch.sh")

if(ACCEL_WITH_CUDA)
  find_package(Torch REQUIRED CONFIG)
  add_library(accel_torch INTERFACE)
  target_link_libraries(accel_torch INTERFACE ${TORCH_LIBRARIES})
  target_compile_definitions(accel_torch INTERFACE USE_C10D_GLOO USE_C10D_NCCL ACCEL_WITH_CUDA=1)
  add_library(accel::torch ALIAS accel_torch)
  return()
endif()

if(NOT EXISTS "${ACCEL_LIBTORCH_DIR}/lib/libtorch_cpu.so")
  message(FATAL_ERROR "LibTorch not found in ACCEL_LIBTORCH_DIR=${ACCEL_LIBTORCH_DIR}: "
                      "run scripts/setup-libtorch.sh")
endif()

find_path(ACCEL_GLOO_INCLUDE gloo/rendezvous/store.h PATHS /usr/include REQUIRED)

add_library(accel_c10 SHARED IMPORTED GLOBAL)
set_target_properties(accel_c10 PROPERTIES IMPORTED_LOCATION "${ACCEL_LIBTORCH_DIR}/lib/libc10.so")
add_library(accel::c10 ALIAS accel_c10)

add_library(accel_torch_cpu SHARED IMPORTED GLOBAL)
set_target_properties(accel_torch_cpu PROPERTIES
  IMPORTED_LOCATION "${ACCEL_LIBTORCH_DIR}/lib/libtorch_cpu.so"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
    "${ACCEL_LIBTORCH_DIR}/include;${ACCEL_LIBTORCH_DIR}/include/torch/csrc/api/include;${ACCEL_GLOO_INCLUDE}"
  INTERFACE_INCLUDE_DIRECTORIES
    "${ACCEL_LIBTORCH_DIR}/include;${ACCEL_LIBTORCH_DIR}/include/torch/csrc/api/include"
  INTERFACE_COMPILE_DEFINITIONS "USE_C10D_GLOO;_GLIBCXX_USE_CXX11_ABI=1"
  INTERFACE_LINK_LIBRARIES "accel_c10;Threads::Threads"
  # libtorch_cpu.so needs libcupti.so.13 and libcudart.so.13, which sit beside it.
  INTERFACE_LINK_OPTIONS "LINKER:-rpath,${ACCEL_LIBTORCH_DIR}/lib;LINKER:-rpath-link,${ACCEL_LIBTORCH_DIR}/lib")
add_library(accel::torch_cpu ALIAS accel_torch_cpu)

add_library(accel_torch INTERFACE)
target_link_libraries(accel_torch INTERFACE accel_torch_cpu)
add_library(accel::torch ALIAS accel_torch)

# The CUDA backend's test (tests/cpp/cuda_backend_test.cc) and benchmark
# (tests/gpu/cuda_bench.cpp). Neither links CUDA: both dlopen() the
# tensord_cuda library, whose build-tree path is compiled in as
# TENSORD_CUDA_LIB (overridable at run time by $TENSORD_CUDA_LIB, and a
# libtensord_cuda.so beside the executable wins, as in a bundle).
#
# Include from tests/CMakeLists.txt, after kernels/cuda has been added:
#   include(${PROJECT_SOURCE_DIR}/tests/cpp/cuda_backend_test.cmake)
# It does nothing when there is no tensord_cuda target (no nvcc).
if(NOT TARGET tensord_cuda)
  message(STATUS "tensord: no tensord_cuda target; cuda_backend_test and cuda_bench not built")
  return()
endif()
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
if(NOT TARGET Threads::Threads)
  find_package(Threads REQUIRED)
endif()

get_filename_component(_tensord_cuda_test_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

add_executable(cuda_backend_test ${_tensord_cuda_test_root}/tests/cpp/cuda_backend_test.cc)
add_executable(cuda_bench ${_tensord_cuda_test_root}/tests/gpu/cuda_bench.cpp)
foreach(_t cuda_backend_test cuda_bench)
  target_include_directories(${_t} PRIVATE ${_tensord_cuda_test_root})
  target_compile_definitions(${_t} PRIVATE TENSORD_CUDA_LIB="$<TARGET_FILE:tensord_cuda>")
  target_link_libraries(${_t} PRIVATE ${CMAKE_DL_LIBS})
  add_dependencies(${_t} tensord_cuda)  # loaded at run time, not linked
endforeach()
target_link_libraries(cuda_backend_test PRIVATE GTest::gtest_main Threads::Threads)

# Two ctest entries: the loading / no-GPU contract always runs; the device
# tests report "Skipped" on a machine without a GPU.
add_test(NAME cuda_backend_load
         COMMAND cuda_backend_test --gtest_filter=CudaBackendLoad.*)
add_test(NAME cuda_backend_gpu
         COMMAND cuda_backend_test --gtest_filter=CudaBackendGpu.*)
set_tests_properties(cuda_backend_gpu PROPERTIES
  SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")

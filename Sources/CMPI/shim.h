// Open MPI's C interface for Swift, and its handles that are macros (Swift cannot import them)
// as static inline functions.
#ifndef VCOSWIN_CMPI_SHIM_H
#define VCOSWIN_CMPI_SHIM_H

#include <mpi.h>

/// `MPI_COMM_WORLD`: every process of the job.
static inline MPI_Comm vc_mpi_comm_world(void) { return MPI_COMM_WORLD; }
/// `MPI_FLOAT`: 32-bit IEEE float.
static inline MPI_Datatype vc_mpi_float(void) { return MPI_FLOAT; }
/// `MPI_DOUBLE`: 64-bit IEEE float.
static inline MPI_Datatype vc_mpi_double(void) { return MPI_DOUBLE; }
/// `MPI_BYTE`: an uninterpreted byte.
static inline MPI_Datatype vc_mpi_byte(void) { return MPI_BYTE; }
/// `MPI_INT64_T`: a signed 64-bit integer.
static inline MPI_Datatype vc_mpi_int64(void) { return MPI_INT64_T; }
/// `MPI_SUM`: the elementwise sum.
static inline MPI_Op vc_mpi_sum(void) { return MPI_SUM; }
/// `MPI_MAX`: the elementwise maximum.
static inline MPI_Op vc_mpi_max(void) { return MPI_MAX; }
/// `MPI_ERRORS_RETURN`: calls return an error code instead of aborting the job.
static inline MPI_Errhandler vc_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
/// `MPI_REQUEST_NULL`: no request (a completed one is set to it).
static inline MPI_Request vc_mpi_request_null(void) { return MPI_REQUEST_NULL; }
/// `MPI_STATUS_IGNORE`: do not report the status.
static inline MPI_Status *vc_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
/// `MPI_IN_PLACE`: the receive buffer is also the send buffer.
static inline void *vc_mpi_in_place(void) { return MPI_IN_PLACE; }
/// `MPI_THREAD_SERIALIZED`: any thread may call MPI, never two at once.
static inline int vc_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
/// `MPI_SUCCESS`: the code of a call that worked.
static inline int vc_mpi_success(void) { return MPI_SUCCESS; }
/// `MPI_MAX_ERROR_STRING`: the longest message `MPI_Error_string` writes.
static inline int vc_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif

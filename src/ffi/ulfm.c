/* The one piece of ULFM support that Rust cannot write on stable: an MPI error handler,
 * a C variadic function (MPI_Comm_errhandler_function). It notes the error code of a
 * call on a communicator rspar gave it, so the call returns the code instead of ending
 * the job; src/ffi/ulfm.rs reads and clears the note after the collectives rspar runs
 * through rsmpi (which drop MPI's return codes). Compiled by build.rs for the ulfm
 * configuration only. Only the thread that initialised MPI calls it (rspar's rule). */
#include <mpi.h>

static int rspar_noted = MPI_SUCCESS;

static void rspar_note(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    rspar_noted = *code;
}

/* Give `comm` the noting handler (made once, never freed, like a predefined one). */
int rspar_ulfm_note_errors(MPI_Comm comm)
{
    static MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
    if (handler == MPI_ERRHANDLER_NULL) {
        int made = MPI_Comm_create_errhandler(rspar_note, &handler);
        if (made != MPI_SUCCESS) {
            return made;
        }
    }
    return MPI_Comm_set_errhandler(comm, handler);
}

/* The code noted since the last call (MPI_SUCCESS: none), and forget it. */
int rspar_ulfm_take_noted(void)
{
    int code = rspar_noted;
    rspar_noted = MPI_SUCCESS;
    return code;
}

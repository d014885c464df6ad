/* TEMPORARY stub: being written */
typedef int pl_retry_stub;

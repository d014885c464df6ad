/* TEMPORARY stub: being written */
typedef int pl_sign_stub;

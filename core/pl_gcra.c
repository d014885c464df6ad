/* TEMPORARY stub: being written */
typedef int pl_gcra_stub;

/* TEMPORARY stub */
typedef int pl_stub_20517;

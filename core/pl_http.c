/* TEMPORARY stub */
typedef int pl_stub_22562;

/* TEMPORARY stub */
typedef int pl_stub_31490;

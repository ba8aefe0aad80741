#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){ size_t mib=atol(argv[1]); int huge=atoi(argv[2]); size_t n=mib<<20;
 char*p=mmap(NULL,n+(2<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 p=(char*)(((unsigned long)p+(2<<20)-1)&~((2UL<<20)-1));
 madvise(p,n,huge?MADV_HUGEPAGE:MADV_NOHUGEPAGE);
 double t0=now(); for(size_t i=0;i<n;i+=4096)p[i]=1; double t1=now();
 for(size_t i=0;i<n;i+=4096)p[i]=2; double t2=now();
 printf("%s %zu MiB: first %.3f ms/MiB, again %.3f ms/MiB\n",huge?"huge":"4k",mib,(t1-t0)*1e3/mib,(t2-t1)*1e3/mib); return 0;}

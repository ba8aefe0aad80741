#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/resource.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){ size_t mib=atol(argv[2]); size_t chunk=atol(argv[3]);
 int fd=open(argv[1],O_CREAT|O_TRUNC|O_WRONLY,0644); char*b=aligned_alloc(4096,chunk); memset(b,7,chunk);
 struct rusage r0,r1; getrusage(RUSAGE_SELF,&r0); double t0=now();
 for(size_t off=0;off<(mib<<20);off+=chunk) if(pwrite(fd,b,chunk,off)!=(ssize_t)chunk){perror("pwrite");return 1;}
 double t1=now(); getrusage(RUSAGE_SELF,&r1);
 printf("chunk %zu: %.3f ms/MiB (sys %.3f ms/MiB)\n",chunk,(t1-t0)*1e3/mib,((r1.ru_stime.tv_sec-r0.ru_stime.tv_sec)*1e3+(r1.ru_stime.tv_usec-r0.ru_stime.tv_usec)/1e3)/mib);
 close(fd); unlink(argv[1]); return 0;}

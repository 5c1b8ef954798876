# jitbench-worker: one load worker (jitbench load). Give it the load flags
# as arguments, with -o /results/worker-K.json on a shared volume; the
# results of all workers merge exactly with `jitbench report merge`.
FROM scratch
COPY jitbench /jitbench
ENTRYPOINT ["/jitbench", "load"]
CMD ["--help"]

# jitbench-broker: the access broker alone (jitbench serve --role broker).
# Built FROM scratch from the static binary by `make images` or the
# container harness; nothing is pulled. Its state lives in /data: mount a
# volume there and it survives kill -9 and restarts. Ready when the gRPC
# health check on 7444 answers SERVING (there is no shell to probe with).
FROM scratch
COPY jitbench /jitbench
EXPOSE 7444
ENTRYPOINT ["/jitbench", "serve", "--role", "broker"]
CMD ["--broker-addr", "0.0.0.0:7444", "--data-dir", "/data"]

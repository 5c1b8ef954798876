# jitbench-vault: the JIT-protected demo Vault alone (jitbench serve --role
# vault). It fetches grant keys from the broker named by --broker-target
# and follows its revocation feed; it serves on 7443 only once it has both.
FROM scratch
COPY jitbench /jitbench
EXPOSE 7443
ENTRYPOINT ["/jitbench", "serve", "--role", "vault"]
CMD ["--addr", "0.0.0.0:7443", "--broker-target", "broker:7444"]

/** The command line of `npm run fleet`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run fleet`'s command line (its `--help` is made from it). */
export const FLEET_COMMAND = {
    usage: "npm run fleet -- COMMAND [ARGS] [options]",
    summary: `The rollout CLI and the fleet OTA service. Commands:
  serve                         run the deployment service (several may
                                share one --db, each with its own --state;
                                --instance names one)
  keygen                        make the release key pair (Ed25519)
  sign FILE.devs --key PRIVATE  write FILE.devs.sig
  publish FILE.devs NAME        check, verify the signature, store a version
  add-device ID                 register; prints its connection string
  connstr ID --port N           the device's connection string
  enrol ID                      send ID's connection string to the device dev
                                tools see (simulator or USB board) and wait
                                until it connects to the service
  assign NAME SCOPE             assign a version (a new rollout); SCOPE is
                                device:ID, group:G, N% or all
  widen N%                      widen a percentage rollout
  stop                          stop a rollout (no more devices get it)
  rollback                      return devices to the previous version
  status | versions | rollouts | log    show the fleet`,
    positionals: true,
    options: {
        state: {
            type: "string",
            default: "state/fleet",
            value: "DIR",
            help: "the fleet's state (mode 0700; refused when group or others can write it)",
        },
        db: {
            type: "string",
            value: "URL",
            help: "the fleet database: a PostgreSQL URL (several instances share it) or a SQLite file (default DIR/fleet.db)",
        },
        port: {
            type: "string",
            value: "N",
            help: "serve: the port to listen on; add-device, connstr, enrol: the service's port",
        },
        host: {
            type: "string",
            default: "127.0.0.1",
            value: "H",
            help: "the host devices reach the service at (in connection strings)",
        },
        listen: {
            type: "string",
            default: "127.0.0.1",
            value: "ADDR",
            help: "serve: the address to listen on",
        },
        wss: {
            type: "boolean",
            default: false,
            help: "connection strings for a service with TLS (wss://)",
        },
        "tls-cert": {
            type: "string",
            value: "F",
            help: "serve: TLS certificate (PEM), with --tls-key",
        },
        "tls-key": {
            type: "string",
            value: "F",
            help: "serve: TLS private key (PEM), with --tls-cert",
        },
        "release-key": {
            type: "string",
            value: "PUB",
            help: "serve, publish: the release public key to trust (default the .pub keygen wrote)",
        },
        key: {
            type: "string",
            value: "PRIVATE",
            help: "sign, publish: the release private key to sign with",
        },
        sig: {
            type: "string",
            value: "FILE.sig",
            help: "publish: the image's signature (default FILE.devs.sig)",
        },
        out: {
            type: "string",
            value: "DIR",
            help: "keygen: where to write the keys (default ~/.config/devs-fleet/ or $XDG_CONFIG_HOME/devs-fleet/)",
        },
        "hold-ms": {
            type: "string",
            value: "N",
            help: "serve: how long a connection is kept after its work (hash check, deploy), then closed",
        },
        "events-max": {
            type: "string",
            value: "N",
            help: "serve: event log rows kept (default 10 000)",
        },
        "events-max-age-days": {
            type: "string",
            value: "D",
            help: "serve: event log rows older than this are dropped (default 30)",
        },
        "max-pending": {
            type: "string",
            value: "N",
            help: "serve: unauthenticated connections (TCP accept to a proved key) at most; none is refused: when all are taken, the oldest of the address holding the most is closed (default by memory: 3640 for ws://, 1024 for wss://, 64 MiB)",
        },
        "max-pending-per-address": {
            type: "string",
            value: "N",
            help: "serve: an address holding N unauthenticated connections has its own oldest closed for its next one, never refused (default: no limit of its own)",
        },
        "handshake-timeout-ms": {
            type: "string",
            value: "N",
            help: "serve: time from TCP accept to a proved key (default 10 000)",
        },
        "idle-timeout-ms": {
            type: "string",
            value: "N",
            help: "serve: a device that sends nothing this long is closed (default 30 000)",
        },
        "max-deploys": {
            type: "string",
            value: "K",
            help: "serve: deploys at once, across every instance sharing the database (default 64; 0: no bound); the other devices come back later",
        },
        instance: {
            type: "string",
            value: "NAME",
            help: "serve: this instance's name, for logs",
        },
        group: {
            type: "string",
            multiple: true,
            value: "G",
            help: "add-device: a group the device is in",
        },
        platform: {
            type: "string",
            value: "PK/DN",
            help: "add-device: the device's identity on the platform",
        },
        "platform-admin": {
            type: "string",
            value: "URL",
            help: "serve: the emulator's admin API, for the silent-after-update check",
        },
        note: {
            type: "string",
            default: "",
            value: "TEXT",
            help: "publish: a note on the version",
        },
        rollout: {
            type: "string",
            value: "ID",
            help: "widen, stop, rollback: which rollout (default the latest)",
        },
        device: {
            type: "string",
            value: "ID",
            help: "rollback: only this device",
        },
        reason: {
            type: "string",
            default: "stopped by hand",
            value: "TEXT",
            help: "stop: why",
        },
        url: {
            type: "string",
            value: "URL",
            help: "enrol: the service's URL (instead of --port and --host)",
        },
        timeout: {
            type: "string",
            value: "S",
            help: "enrol: seconds to wait for the device to connect",
        },
        "jacdac-port": {
            type: "string",
            value: "N",
            help: "enrol: the dev tools' Jacdac TCP port (default 8082)",
        },
        "device-id": {
            type: "string",
            value: "HEX",
            help: "enrol: the device on the bus, when more than one is",
        },
    },
    notes: `Files: DIR/fleet.db (SQLite, 0600) unless --db, and DIR/artifacts/<hash>.devs
(0600). keygen writes release-key.pem (private, 0600) and release-key.pub.`,
} as const satisfies CommandSpec

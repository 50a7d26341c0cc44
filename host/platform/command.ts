/** The command line of `npm run platform`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run platform`'s command line (its `--help` is made from it). */
export const PLATFORM_COMMAND = {
    usage: "npm run platform -- [options]",
    summary: `The platform emulator alone: the HTTPS device channel on 127.0.0.1 with
its admin API, and where its CA certificate is.`,
    options: {
        port: {
            type: "string",
            value: "N",
            help: "HTTPS port on 127.0.0.1 (default 8443; 0: any free port)",
        },
        "admin-port": {
            type: "string",
            value: "N",
            help: "admin HTTP port (default: port + 1; 0 when port is 0)",
        },
        device: {
            type: "string",
            multiple: true,
            value: "PK/DN/SECRET",
            help: "a device; as the platform issues them, PK is 11 letters or digits, DN 4 to 32 characters of letters, digits and - _ @ . :",
        },
        devices: {
            type: "string",
            value: "FILE",
            help: 'a JSON file: [{"productKey","deviceName","deviceSecret"} | "PK/DN/SECRET", ...]',
        },
        topics: {
            type: "string",
            value: "FILE",
            help: 'a JSON file of custom topic classes, added to the defaults: [{"topic": "/${productKey}/${deviceName}/user/data", "permission": "pub"}]',
        },
        state: {
            type: "string",
            value: "DIR",
            help: "where the CA and server certificate are kept (default state/platform)",
        },
        "token-ttl": {
            type: "string",
            value: "T",
            help: "token lifetime: seconds, or a number with s, m, h or d (default 7d, as today's documents give it; 48h as the C SDK's comment and the 2017 document)",
        },
        "token-form": {
            type: "string",
            value: "F",
            help: "jwt (default: 161-character JWT-form tokens) or hex (32 hex digits)",
        },
        "rate-device": {
            type: "string",
            value: "N",
            help: "requests per second per device (default unlimited)",
        },
        "rate-global": {
            type: "string",
            value: "N",
            help: "requests per second in all (default unlimited)",
        },
        "keep-alive": {
            type: "string",
            value: "S",
            help: "idle keep-alive connections are closed after S seconds (default 60; at most 2147483, the longest a Node timer can wait)",
        },
        "max-body": {
            type: "string",
            value: "N",
            help: "largest publish body accepted, 1..131072 bytes (default 131072, 128 KB)",
        },
        "max-records": {
            type: "string",
            value: "N",
            help: "records kept per list (messages, informs, auths, requests; default 10000); past it the oldest are dropped and counted (GET /stats: dropped)",
        },
        "max-log-bytes": {
            type: "string",
            value: "N",
            help: "bytes kept per list (default 33554432, 32 MiB); past it the oldest are dropped and counted",
        },
        quiet: { type: "boolean", help: "do not print one line per request" },
    },
} as const satisfies CommandSpec

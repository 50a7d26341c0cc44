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
            help: "a device",
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
            value: "S",
            help: "token lifetime in seconds (default 172800 = 48 h)",
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
            help: "idle keep-alive connections are closed after S seconds (default 60)",
        },
        "max-body": {
            type: "string",
            value: "N",
            help: "largest publish body accepted, 1..131072 bytes (default 131072, 128 KB)",
        },
        quiet: { type: "boolean", help: "do not print one line per request" },
    },
} as const satisfies CommandSpec

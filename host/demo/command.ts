/** The command line of `npm run fleet-demo`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run fleet-demo`'s command line (its `--help` is made from it). */
export const DEMO_COMMAND = {
    usage: "npm run fleet-demo -- [options]",
    summary: `A fleet to watch in the console without hardware or the DeviceScript
simulator: the platform emulator, the fleet OTA service and protocol-level
devices that check in with the service and report readings to the emulator.
Versions v1.0.0 and v2.0.0 are published, signed with a release key made for
the demo (DIR/release-key.pub), and v1.0.0 is assigned to all; then, unless
--no-rollout, v2.0.0 goes to 25% of the fleet and later to all of it. Prints
the \`npm run console\` command that shows it all. Ctrl-C ends it.`,
    options: {
        devices: {
            type: "string",
            default: "8",
            value: "N",
            help: "how many devices (1..200)",
        },
        state: {
            type: "string",
            default: "state/demo",
            value: "DIR",
            help: "state, wiped at start (a non-empty directory the demo did not make is refused)",
        },
        "platform-port": {
            type: "string",
            default: "8443",
            value: "P",
            help: "the emulator's HTTPS port (its admin API: P+1)",
        },
        "fleet-port": {
            type: "string",
            default: "7071",
            value: "P",
            help: "the fleet service's port",
        },
        period: {
            type: "string",
            value: "S",
            help: "seconds between a device's readings (default 2)",
        },
        "check-in": {
            type: "string",
            value: "S",
            help: "seconds between a device's check-ins (default 5)",
        },
        "rollout-after": {
            type: "string",
            value: "S",
            help: "seconds until v2.0.0 goes to 25% (default 20)",
        },
        "widen-after": {
            type: "string",
            value: "S",
            help: "seconds after that until it goes to all (default 40)",
        },
        "no-rollout": {
            type: "boolean",
            default: false,
            help: "keep v1.0.0 on every device",
        },
    },
} as const satisfies CommandSpec

/** The command line of `npm test`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm test`'s command line (its `--help` is made from it). */
export const TEST_COMMAND = {
    usage: "npm test [-- [options] [FILTER...]]",
    summary: `Runs every firmware test file in the DeviceScript VM and every host test
with Node's test runner, then prints one closing line "N passed, N failed" and
exits non-zero on any failure, compile error, crash or timeout. FILTER: only the
files whose path contains one (without a filter the host code and the firmware
are also type-checked). First, the Debian packages that the selected host files
need (chromium, postgresql) are installed when missing.`,
    positionals: true,
    options: {
        fast: {
            type: "boolean",
            default: false,
            help: "the firmware tests in the VM and the host unit tests, side by side: no host test file that starts the simulator or is an integration test (see test-tiers.ts)",
        },
    },
} as const satisfies CommandSpec

/** The command line of `npm run release`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run release`'s command line (its `--help` is made from it). */
export const RELEASE_COMMAND = {
    usage: "npm run release -- VERSION [options]",
    summary: `Builds the firmware (src/main.ts) with release version VERSION (x.y.z)
stamped in, so that the device reports vx.y.z, and writes it to
state/releases/VERSION.devs (or --out FILE). When a release key exists, it
signs the image and writes FILE.sig beside it, which \`fleet publish FILE
NAME\` picks up.`,
    positionals: true,
    options: {
        out: {
            type: "string",
            value: "FILE",
            help: "where to write the image (default state/releases/VERSION.devs)",
        },
        key: {
            type: "string",
            value: "PRIVATE",
            help: "release private key to sign with (default release-key.pem in the key directory fleet keygen writes, when present)",
        },
    },
} as const satisfies CommandSpec

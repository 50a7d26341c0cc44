/**
 * The fleet's front door: what the console, the bench, `npm start`,
 * provisioning and the demo use of the fleet OTA service. Inside, one room
 * per concern:
 *
 * - store/: the {@link FleetStore} interface and its records (types.ts),
 *   SQLite (the embedded default) and PostgreSQL behind it, opened by
 *   {@link openFleetStore} from a `--db` value;
 * - rollout/: which version each device should run (pure rules over data
 *   read once), the operations on rollouts, what stops one, progress and
 *   the fleet view;
 * - device/: the runtime's cloud protocol, a device's session, admission
 *   of unauthenticated connections, the live connections, enrolment;
 * - release/: firmware artifacts, release signing, publishing;
 * - service/: the service itself, its leases, health check, recovery,
 *   control socket and state directory;
 * - cli.ts: `npm run fleet`.
 */
export type {
    DeviceRecord,
    DeviceState,
    FleetEvent,
    FleetStore,
    Rollout,
    Scope,
    VersionRecord,
} from "./store/types.ts"
export { openFleetStore } from "./store/open.ts"
export { redactUrl } from "./store/db-url.ts"

export { parseScope, scopeText } from "./rollout/desired.ts"
export { assign, rollback, stop, widen } from "./rollout/actions.ts"
export { readFleetData } from "./rollout/fleet-data.ts"
export { rolloutProgress, type RolloutProgress } from "./rollout/progress.ts"
export { fleetView, type FleetRow } from "./rollout/view.ts"

export {
    AUTH_BYTES,
    Cmd,
    DEPLOY_ALIGN,
    MAX_DEVICE_MESSAGE,
    SecureChannel,
    decodeHello,
    formatConnectionString,
    newDeviceKey,
    parseConnectionString,
    sessionKey,
} from "./device/protocol.ts"
export { DEVICE_ID, DEVICE_PATH } from "./device/upgrade.ts"
export { handshakeFailureText } from "./device/handshake-failures.ts"
export { enrolOnBus, prepareEnrol, type EnrolPlan } from "./service/enrol.ts"

export { ArtifactStore, padImage } from "./release/artifacts.ts"
export {
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    defaultKeyDir,
    generateReleaseKeys,
    keyFingerprint,
    loadPrivateKey,
    loadPublicKey,
    signRelease,
    verifyRelease,
} from "./release/signing.ts"
export { publishVersion } from "./release/publish.ts"

export {
    startFleetService,
    type FleetService,
    type FleetServiceOptions,
} from "./service/service.ts"
export { controlSocketPath, queryControl } from "./service/control.ts"
export { prepareStateDir } from "./service/state-dir.ts"

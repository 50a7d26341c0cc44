/**
 * The fleet console's front door: a web page over a {@link FleetStore} (any
 * backend the fleet opens) with the fleet, its rollouts and versions, live
 * updates, the rollout actions, and each device's readings from the
 * platform's admin API. `npm run console` (cli.ts) starts it; the server
 * side is server.ts and the modules it composes, the page is public/.
 */
export {
    startConsole,
    type ConsoleOptions,
    type ConsoleServer,
} from "./server.ts"

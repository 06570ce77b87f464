// Connectors: Fluvio's connector YAML, the runtime and its built-in sources
// and sinks, and the manager of a node's managed connectors. What other
// layers (the console, the node) use of them.

export { ADMIN_FILE, configName, DEFAULT_ADMIN_PORT, handleConnectorRequest, startAdminServer, type AdminServer } from './admin-http.js';
export { CONNECTORS_DIR, ConnectorManager, type ConnectorDetails, type ConnectorInfo, type ConnectorSpec, type CreateRequest } from './manager.js';
export { startConnectorService, type ConnectorService, type ConnectorServiceConfig } from './service.js';

import type { Logger } from 'pino';
import { Writer } from '../../protocol/index.js';
import { ErrorCode, NO_ERROR, type FluvioError } from '../../protocol/index.js';
import { decodeCreateRequest, encodeCreateResponse } from '../../protocol/index.js';
import { decodeDeleteRequest, encodeDeleteResponse } from '../../protocol/index.js';
import { decodeListRequest, encodeListResponse, type ListResponse } from '../../protocol/index.js';
import { isKnownKind, type KnownKind } from '../../protocol/index.js';
import type { Authorizer, Operation, ResourceType } from '../../auth/index.js';
import type { Visibility } from './visibility.js';
import type { Status } from '../../protocol/index.js';
import type { RequestContext } from '../net/connection.js';
import type { MetadataView } from './metadata-view.js';
import { topicFromSpec } from './objects.js';
import { TOPIC_ERROR, TopicRequestError, type TopicRegistry } from './topic-registry.js';
import { SMARTMODULE_ERROR, SmartModuleRequestError, type SmartModuleRegistry } from './smartmodule-registry.js';

function status(name: string, error: FluvioError = NO_ERROR, message?: string): Status {
  return message === undefined ? { name, errorCode: error } : { name, errorCode: error, errorMessage: message };
}

/** Known refusals become a Status with Fluvio's code; anything else is a server fault, logged. */
function statusForError(name: string, err: unknown, log: Logger): Status {
  if (err instanceof TopicRequestError) return status(name, { code: err.code }, err.message);
  if (err instanceof SmartModuleRequestError) {
    const error: FluvioError =
      err.code === SMARTMODULE_ERROR.notFound
        ? { code: err.code, name }
        : err.code === SMARTMODULE_ERROR.invalid
          ? { code: err.code, error: err.message, name }
          : { code: err.code };
    return status(name, error, err.message);
  }
  log.error({ err, name }, 'admin request failed');
  return status(name, { code: ErrorCode.Other, message: (err as Error).message }, (err as Error).message);
}

function reply(ctx: RequestContext, encode: (writer: Writer) => void): void {
  const writer = new Writer();
  encode(writer);
  ctx.connection.send(ctx.header.correlationId, writer);
}

export interface AdminObjects {
  topics: TopicRegistry;
  smartmodules: SmartModuleRegistry;
  authorizer?: Authorizer | undefined;
}

/** The refusal of a request the principal may not make, naming the resource. */
function denied(ctx: RequestContext, authorizer: Authorizer | undefined, operation: Operation, resource: ResourceType, name: string): Status | undefined {
  if (!authorizer || authorizer.permits(ctx.connection.principal, operation, resource, name)) return undefined;
  return status(name, { code: ErrorCode.PermissionDenied }, `${ctx.connection.principal.user} may not ${operation} ${resource} "${name}"`);
}

export function createHandler({ topics, smartmodules, authorizer }: AdminObjects, log: Logger) {
  return async (ctx: RequestContext): Promise<void> => {
    const request = decodeCreateRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('Create request');
    let result: Status;
    const refusal =
      request.kind === 'Topic' || request.kind === 'SmartModule'
        ? denied(ctx, authorizer, 'create', request.kind === 'Topic' ? 'topic' : 'smartmodule', request.name)
        : undefined;
    if (refusal) {
      result = refusal;
    } else if (request.kind === 'SmartModule') {
      try {
        await smartmodules.create(request.name, request.spec, request.dryRun);
        result = status(request.name);
      } catch (err) {
        result = statusForError(request.name, err, log);
      }
    } else if (request.kind !== 'Topic') {
      const kind = request.kind === 'Unsupported' ? request.label : request.kind;
      const message = `creating ${kind} objects is not supported by this node`;
      result = status(request.name, { code: ErrorCode.Other, message }, message);
    } else {
      try {
        let topic;
        try {
          topic = topicFromSpec(request.name, request.spec);
        } catch (err) {
          throw new TopicRequestError(TOPIC_ERROR.invalidConfiguration, (err as Error).message);
        }
        if (request.dryRun) topics.check(topic);
        else await topics.create(topic);
        result = status(request.name);
      } catch (err) {
        result = statusForError(request.name, err, log);
      }
    }
    reply(ctx, (writer) => encodeCreateResponse(writer, result, ctx.header.apiVersion));
  };
}

export function deleteHandler({ topics, smartmodules, authorizer }: AdminObjects, log: Logger) {
  return async (ctx: RequestContext): Promise<void> => {
    const request = decodeDeleteRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('Delete request');
    const name = typeof request.key === 'string' ? request.key : request.key.type === 'Name' ? request.key.name : String(request.key.id);
    let result: Status;
    const refusal =
      request.kind === 'Topic' || request.kind === 'SmartModule' ? denied(ctx, authorizer, 'delete', request.kind === 'Topic' ? 'topic' : 'smartmodule', name) : undefined;
    if (refusal) {
      result = refusal;
    } else if (request.kind !== 'Topic' && request.kind !== 'SmartModule') {
      const message = `deleting ${request.kind} objects is not supported by this node`;
      result = status(name, { code: ErrorCode.Other, message }, message);
    } else {
      try {
        await (request.kind === 'Topic' ? topics.delete(name) : smartmodules.delete(name));
        result = status(name);
      } catch (err) {
        result = statusForError(name, err, log);
      }
    }
    reply(ctx, (writer) => encodeDeleteResponse(writer, result, ctx.header.apiVersion));
  };
}

export function listHandler(view: MetadataView, visible: Visibility) {
  return async (ctx: RequestContext): Promise<void> => {
    const request = decodeListRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('List request');
    let response: ListResponse;
    if (isKnownKind(request.kind)) {
      const filters = new Set(request.nameFilters);
      const all = request.kind === 'SmartModule' && !request.summary ? await view.smartModulesWithPayload() : view.list(request.kind);
      const items = all.filter((item) => (filters.size === 0 || filters.has(item.name)) && visible(ctx.connection.principal, request.kind as KnownKind, item.name));
      response = { kind: request.kind, items } as ListResponse;
    } else {
      // Kinds this node has no objects of get an empty list (a Vec count of 0).
      response = { kind: 'Unsupported', label: request.kind, payload: Buffer.alloc(4) };
    }
    reply(ctx, (writer) => encodeListResponse(writer, response, ctx.header.apiVersion));
  };
}

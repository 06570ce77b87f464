import type { Address, Link, LinkOptions } from './connection.js';
import type { MetadataClient } from './metadata.js';

/** What producers, consumers and the admin share inside one Freshet client. */
export interface ClientContext {
  readonly sc: Link;
  readonly metadata: MetadataClient;
  /** The client's shared link to an SPU (producers and offset requests use it). */
  spuLink(address: Address): Link;
  /** Options for links a consumer opens for itself. */
  readonly linkOptions: LinkOptions;
  readonly isClosed: boolean;
}

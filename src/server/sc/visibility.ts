// What a client may see of the SC's objects: a topic (and its partitions) or
// a SmartModule it may describe; the SPUs always, since every client needs
// them to find a partition's leader.

import type { KnownKind } from '../../protocol/index.js';
import type { Principal } from '../../auth/index.js';
import type { Authorizer } from '../../auth/index.js';

export type Visibility = (who: Principal, kind: KnownKind, name: string) => boolean;

/** A partition object is named `<topic>-<partition>`. */
function topicOfPartition(name: string): string {
  const dash = name.lastIndexOf('-');
  return dash < 0 ? name : name.slice(0, dash);
}

export function visibility(authorizer: Authorizer | undefined): Visibility {
  if (!authorizer) return () => true;
  return (who, kind, name) => {
    switch (kind) {
      case 'Topic':
        return authorizer.allows(who, 'describe', 'topic', name);
      case 'Partition':
        return authorizer.allows(who, 'describe', 'topic', topicOfPartition(name));
      case 'SmartModule':
        return authorizer.allows(who, 'describe', 'smartmodule', name);
      case 'SPU':
      case 'CustomSpu':
        return true;
    }
  };
}

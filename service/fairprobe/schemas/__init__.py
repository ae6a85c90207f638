"""marshmallow schemas: validate at the edge, build frozen domain objects, describe the answers."""

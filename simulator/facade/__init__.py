"""The Simulator facade's operations, one mixin per feature (layers, concurrency, versions...)."""

"""Champion/challenger experiments inside one function version: shadow and split (contract)."""

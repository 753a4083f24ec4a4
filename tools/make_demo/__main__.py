from .genres import main

raise SystemExit(main())

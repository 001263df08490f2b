pub fn placeholder_for_dep_build() {}

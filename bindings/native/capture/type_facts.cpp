#include "type_facts.hpp"

#include "internals.hpp"

namespace refgraph::capture {

TypeFacts type_facts(PyTypeObject* t) {
  TypeFacts f;
  f.type = t;
  f.gc_type = PyType_IS_GC(t);
  f.has_is_gc = t->tp_is_gc != nullptr;
  f.pre_header = pre_header_size(t);
  bool exact = false;
  f.size_kind = size_kind_of(t, &exact);
  if (!have_internals() &&
      (f.size_kind == SizeKind::Str || f.size_kind == SizeKind::Type || f.size_kind == SizeKind::Frame ||
       f.size_kind == SizeKind::Code || f.size_kind == SizeKind::Gen))
    f.size_kind = SizeKind::Basic;  // their sizes read private layouts
  // A class statement's type walks its instance layer (subtype_traverse in C), then the layer of the nearest base
  // with another tp_traverse, exactly as subtype_traverse does.
  InstanceLayout layout = instance_layout(t);
  f.instance = layout.instance;
  f.managed_dict = layout.managed_dict;
  f.visit_dict_ptr = layout.visit_dict_ptr;
  f.visit_type = layout.visit_type;
  f.slots = std::move(layout.slots);
  f.layer = layer_of(layout.base);
  if (!f.gc_type && !walks_without_gc(f.layer)) f.layer = Layer::None;
  f.base_traverse = layout.base->tp_traverse;
  return f;
}

}  // namespace refgraph::capture
